"""The Python side of snakepit-rx."""
