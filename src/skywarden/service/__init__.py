"""The live service: the HTTP/WebSocket API, token auth and the pipeline driver behind them."""
