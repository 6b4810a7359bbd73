"""Test doubles of the chat platforms' servers, spoken to over real HTTP on 127.0.0.1."""
