"""``fer-edge doctor``: what is wrong, before anyone reads a traceback.

Each check is PASS, WARN (something the chosen configuration does not need, or a fallback it
will take) or FAIL (``run`` would refuse or fail). The checks build their parts through
:mod:`fer_edge.assemble`, as ``run`` does, and change nothing: the only file written is a probe
in an existing log folder, removed at once.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..config import RunConfig
from ..contract.errors import FerError

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
#: (status, name, detail)
Check = tuple[str, str, str]


def _ok(ok: bool) -> str:
    return PASS if ok else FAIL


def _runtime() -> Check:
    import numpy as np

    from ..classify.runtime import RUNTIMES, probe

    notes = []
    for name in RUNTIMES:
        runtime, why = probe(name)
        if runtime is not None:
            return PASS, "runtime", f"{name} {runtime.version} with numpy {np.__version__}"
        notes.append(f"{name}: {why}")
    return FAIL, "runtime", "none usable (" + "; ".join(notes) + "); pip install ai-edge-litert"


def _opencv() -> Check:
    try:
        import cv2
    except ImportError as exc:
        return FAIL, "opencv", f"not importable ({exc}); pip install 'opencv-python-headless<5'"
    from ..faces import modelfiles

    try:
        cascade = modelfiles.find_haar()
    except FerError as exc:
        return PASS, "opencv", f"{cv2.__version__}; no Haar fallback ({exc})"
    return PASS, "opencv", f"{cv2.__version__}, Haar fallback {cascade}"


def _face_model(config: RunConfig) -> Check:
    """YuNet: a FAIL only where the configuration needs it (``detector = "yunet"``, or a model
    named that is missing or broken); with ``auto`` a missing one is a WARN (Haar stands in)."""
    from ..faces import modelfiles

    needed = config.detector != "haar"
    try:
        path = modelfiles.find_yunet(config.face_model)
        if path is not None:
            modelfiles.check_yunet(path)
    except FerError as exc:
        return (FAIL if needed else WARN), "face model", str(exc)
    if path is not None:
        unused = "" if needed else " (not used: detector haar)"
        return PASS, "face model", f"YuNet {path}{unused}"
    if config.detector == "yunet":
        return FAIL, "face model", "YuNet not found; " + modelfiles.manual_hint()
    if config.detector == "haar":
        return WARN, "face model", "YuNet not found (not needed: detector haar)"
    return (
        WARN,
        "face model",
        (
            "YuNet not found: the Haar fallback will run, which misses most faces; "
            + modelfiles.manual_hint()
        ),
    )


def _model(config: RunConfig) -> Iterator[Check]:
    """The model and its card, then how its probabilities will become shares."""
    from ..assemble import load_classifier
    from ..classify.packaged_model import describe
    from ..classify.shares import ShareEstimator

    try:
        classifier = load_classifier(config)
    except FerError as exc:
        yield FAIL, "model card", str(exc)
        return
    card = classifier.card
    detail = f"{describe(config.model)}: {card.mode}, {card.input_size} px, matches its card"
    yield PASS, "model card", detail
    estimator = ShareEstimator(card, config.estimator, config.prior_correction)
    if estimator.note:
        yield WARN, "shares", estimator.note
    elif estimator.calibration is not None:
        yield PASS, "shares", f"{config.estimator}, calibrated on {estimator.calibration.source}"
    else:
        yield PASS, "shares", f"{config.estimator} (needs no calibration)"


def _camera(config: RunConfig) -> Check:
    from ..assemble import open_camera
    from ..capture.events import FRAME

    try:
        source = open_camera(config, frame_timeout=min(config.frame_timeout, 5.0))
    except FerError as exc:
        return FAIL, "camera", str(exc)
    if not source.live:
        width, height = source.frame_size or (0, 0)
        return PASS, "camera", f"video file {config.camera} ({width}x{height}, {source.fps:g} fps)"
    source.reconnect = False
    try:
        for event in source:
            if event.kind == FRAME:
                height, width = event.frame.shape[:2]
                asked = "" if "://" in config.camera else f" (asked for {config.capture_size})"
                return PASS, "camera", f"{source.name}: frame {width}x{height}{asked}"
    except FerError as exc:
        return FAIL, "camera", str(exc)
    finally:
        source.close()
    return FAIL, "camera", f"{source.name}: no frame"


def _log_dir(config: RunConfig) -> Check:
    """The log folder can be written (or created); nothing is left behind."""
    from ..assemble import log_dir_problem

    folder = config.resolved_log_dir
    why = log_dir_problem(folder)
    if why:
        return FAIL, "log dir", why
    if not folder.is_dir():
        return PASS, "log dir", f"{folder} does not exist yet; run will create it"
    return PASS, "log dir", f"{folder} writable"


def _service() -> Check | None:
    """The systemd service's state, where systemd runs (None: nothing to report)."""
    from ..service.install import SERVICE, service_state

    state = service_state()
    if state is None:
        return None
    return _ok(not state.startswith("failed")), "service", f"{SERVICE}: {state}"


def _fleet(config: RunConfig) -> Iterator[Check]:
    """The MQTT broker answers (TCP, and TLS with the configured CA); the metrics port is free."""
    import socket
    import ssl

    from ..fleet.mqtt import MqttSettings

    try:
        mqtt = MqttSettings.from_config(config)
    except FerError as exc:
        yield FAIL, "mqtt", str(exc)
        return
    if mqtt is not None:
        where = f"{mqtt.host}:{mqtt.port}"
        try:
            with socket.create_connection((mqtt.host, mqtt.port), timeout=3) as sock:
                if mqtt.ca_file:
                    context = ssl.create_default_context(cafile=mqtt.ca_file)
                    context.wrap_socket(sock, server_hostname=mqtt.host).close()
        except ssl.SSLError as exc:
            yield FAIL, "mqtt", f"{where}: TLS failed ({exc.reason or exc}; check mqtt-ca-file)"
        except OSError as exc:
            yield FAIL, "mqtt", f"{where}: not reachable ({exc.strerror or exc})"
        else:
            tls = "TLS verified" if mqtt.ca_file else "no TLS"
            yield PASS, "mqtt", f"{where} reachable ({tls}); topics {mqtt.topic}/#"
    if config.metrics_port:
        try:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", config.metrics_port))
        except OSError as exc:
            yield FAIL, "metrics", f"127.0.0.1:{config.metrics_port} ({exc.strerror})"
        else:
            yield PASS, "metrics", f"127.0.0.1:{config.metrics_port} free"


def run_checks(config: RunConfig) -> Iterator[Check]:
    yield _runtime()
    yield _opencv()
    yield _face_model(config)
    yield _camera(config)
    yield from _model(config)
    yield _log_dir(config)
    yield from _fleet(config)
    service = _service()
    if service is not None:
        yield service
