"""A live table of rooms x class shares from fer-edge's MQTT window records.

Usage: python examples/fleet_view.py BROKER [--port 1883] [--prefix fer-edge]
Needs fer-edge with paho-mqtt (pip install 'fer-edge[fleet]'). Records are read through
fer-edge's WindowRecord (docs/window-record.schema.json describes them for other languages);
each carries an id, so a repeat is skipped.
"""

import argparse
import json

import paho.mqtt.client as mqtt

from fer_edge.contract.labels import LABELS
from fer_edge.record.timeutil import iso
from fer_edge.record.window import WindowRecord

HEAD = f"{'site/room':<24}{'window end':<26}" + "".join(f"{x[:7]:>9}" for x in LABELS)
rooms, seen = {}, set()


def on_message(client, userdata, msg):
    _, site, room, _ = msg.topic.rsplit("/", 3)
    try:
        record = WindowRecord.from_dict(json.loads(msg.payload))
    except ValueError as exc:
        print(f"{msg.topic}: not a window record ({exc})", flush=True)
        return
    if record.id in seen:
        return
    seen.add(record.id)
    rooms[f"{site}/{room}"] = record
    print("\033[2J\033[H" + HEAD)  # clear the screen, then one line a room
    for name, r in sorted(rooms.items()):
        shares = r.shares  # None: fewer faces than min-group, suppressed
        cells = [f"{shares.get(x, 0):>9.0%}" for x in LABELS] if shares else ["  (suppressed)"]
        print(f"{name:<24}{iso(r.end):<26}" + "".join(cells), flush=True)


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("broker")
parser.add_argument("--port", type=int, default=1883)
parser.add_argument("--prefix", default="fer-edge")
args = parser.parse_args()
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
client.on_connect = lambda c, *a: c.subscribe(f"{args.prefix}/+/+/windows", qos=1)
client.on_message = on_message
client.connect(args.broker, args.port)
client.loop_forever()
