"""The FastAPI app: webhooks, health and metrics, the cardholder simulator and the console."""
