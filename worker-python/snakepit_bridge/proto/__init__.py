"""Code generated from proto/bridge.proto by `npm run proto`; do not edit."""
