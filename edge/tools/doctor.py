"""``fer-edge doctor``: what is wrong, before anyone reads a traceback. Each check: PASS/FAIL."""

from __future__ import annotations

from collections.abc import Iterator

from ..config import RunConfig
from ..contract.errors import FerError

Check = tuple[bool, str, str]


def _runtime() -> Check:
    import numpy as np

    from ..classify.runtime import RUNTIMES, probe

    notes = []
    for name in RUNTIMES:
        runtime, why = probe(name)
        if runtime is not None:
            return True, "runtime", f"{name} {runtime.version} with numpy {np.__version__}"
        notes.append(f"{name}: {why}")
    return False, "runtime", "none usable (" + "; ".join(notes) + "); pip install ai-edge-litert"


def _opencv() -> Check:
    try:
        import cv2
    except ImportError as exc:
        return False, "opencv", f"not importable ({exc}); pip install 'opencv-python-headless<5'"
    from ..faces import modelfiles

    try:
        cascade = modelfiles.find_haar()
    except FerError as exc:
        return True, "opencv", f"{cv2.__version__}; no Haar fallback ({exc})"
    return True, "opencv", f"{cv2.__version__}, Haar fallback {cascade}"


def _face_model(config: RunConfig) -> Check:
    from ..faces import modelfiles

    try:
        path = modelfiles.find_yunet(config.face_model)
        if path is None:
            return False, "face model", "YuNet not found; " + modelfiles.manual_hint()
        modelfiles.check_yunet(path)
    except FerError as exc:
        return False, "face model", str(exc)
    return True, "face model", f"YuNet {path}"


def _model(config: RunConfig) -> Check:
    from ..classify.default_model import describe
    from ..daemon import load_classifier

    try:
        classifier = load_classifier(config)
    except FerError as exc:
        return False, "model card", str(exc)
    card = classifier.card
    detail = f"{describe(config.model)}: {card.mode}, {card.input_size} px, matches its card"
    return True, "model card", detail


def _camera(config: RunConfig) -> Check:
    from ..capture.devices import capture_settings, open_source
    from ..capture.events import FRAME

    try:
        source = open_source(
            config.camera,
            frame_timeout=min(config.frame_timeout, 5.0),
            capture=capture_settings(config),
        )
    except FerError as exc:
        return False, "camera", str(exc)
    if not source.live:
        width, height = source.frame_size or (0, 0)
        return True, "camera", f"video file {config.camera} ({width}x{height}, {source.fps:g} fps)"
    source.reconnect = False
    try:
        for event in source:
            if event.kind == FRAME:
                height, width = event.frame.shape[:2]
                asked = "" if "://" in config.camera else f" (asked for {config.capture_size})"
                return True, "camera", f"{source.name}: frame {width}x{height}{asked}"
    except FerError as exc:
        return False, "camera", str(exc)
    finally:
        source.close()
    return False, "camera", f"{source.name}: no frame"


def _log_dir(config: RunConfig) -> Check:
    from ..record.jsonl import JsonlLog

    folder = config.resolved_log_dir
    try:
        JsonlLog(folder).check_dir()
    except FerError as exc:
        return False, "log dir", str(exc)
    return True, "log dir", f"{folder} writable"


def _service() -> Check | None:
    """The systemd service's state, where systemd runs (None: nothing to report)."""
    from ..service.install import SERVICE, service_state

    state = service_state()
    if state is None:
        return None
    return not state.startswith("failed"), "service", f"{SERVICE}: {state}"


def _fleet(config: RunConfig) -> Iterator[Check]:
    """The MQTT broker answers (TCP, and TLS with the configured CA); the metrics port is free."""
    import socket
    import ssl

    from ..fleet.mqtt import MqttSettings

    try:
        mqtt = MqttSettings.from_config(config)
    except FerError as exc:
        yield False, "mqtt", str(exc)
        return
    if mqtt is not None:
        where = f"{mqtt.host}:{mqtt.port}"
        try:
            with socket.create_connection((mqtt.host, mqtt.port), timeout=3) as sock:
                if mqtt.ca_file:
                    context = ssl.create_default_context(cafile=mqtt.ca_file)
                    context.wrap_socket(sock, server_hostname=mqtt.host).close()
        except ssl.SSLError as exc:
            yield False, "mqtt", f"{where}: TLS failed ({exc.reason or exc}; check mqtt-ca-file)"
        except OSError as exc:
            yield False, "mqtt", f"{where}: not reachable ({exc.strerror or exc})"
        else:
            tls = "TLS verified" if mqtt.ca_file else "no TLS"
            yield True, "mqtt", f"{where} reachable ({tls}); topics {mqtt.topic}/#"
    if config.metrics_port:
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", config.metrics_port))
        except OSError as exc:
            yield False, "metrics", f"127.0.0.1:{config.metrics_port} ({exc.strerror})"
        else:
            yield True, "metrics", f"127.0.0.1:{config.metrics_port} free"


def run_checks(config: RunConfig) -> Iterator[Check]:
    yield _runtime()
    yield _opencv()
    yield _face_model(config)
    yield _camera(config)
    yield _model(config)
    yield _log_dir(config)
    yield from _fleet(config)
    service = _service()
    if service is not None:
        yield service
