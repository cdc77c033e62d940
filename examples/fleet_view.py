"""A live table of rooms x class shares from fer-edge's MQTT window records.

Usage: python examples/fleet_view.py BROKER [--port 1883] [--prefix fer-edge]
Needs paho-mqtt (pip install 'fer-edge[fleet]'). Records carry an id: a repeat is skipped.
"""

import argparse
import json

import paho.mqtt.client as mqtt

LABELS = ("anger", "disgust", "fear", "happy", "neutral", "sadness", "surprise")
HEAD = f"{'site/room':<24}{'window end':<26}" + "".join(f"{x[:7]:>9}" for x in LABELS)
rooms, seen = {}, set()


def on_message(client, userdata, msg):
    _, site, room, _ = msg.topic.rsplit("/", 3)
    record = json.loads(msg.payload)
    if record["id"] in seen:
        return
    seen.add(record["id"])
    rooms[f"{site}/{room}"] = record
    print("\033[2J\033[H" + HEAD)  # clear the screen, then one line a room
    for name, r in sorted(rooms.items()):
        shares = r.get("shares")  # absent: fewer faces than min-group, suppressed
        cells = [f"{shares.get(x, 0):>9.0%}" for x in LABELS] if shares else ["  (suppressed)"]
        print(f"{name:<24}{r['end']:<26}" + "".join(cells), flush=True)


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
