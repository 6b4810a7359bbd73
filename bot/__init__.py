"""Who says what: the chat core, the transports, rendering and the command line."""
