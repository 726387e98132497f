"""The FastAPI façade: starts projects, answers approval queries, serves the dashboard."""
