"""Gate tokens, approval policies and Slack messages: pure code, no I/O, well tested."""
