"""Worker assembly (the one place that lists workflows and activities) and the dev stack runner."""
