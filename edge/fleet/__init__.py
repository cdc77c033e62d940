"""Many rooms, one view: window records to an MQTT broker, and metrics for Prometheus.

Both are off by default and need the `fleet` extra (paho-mqtt, prometheus-client).
"""
