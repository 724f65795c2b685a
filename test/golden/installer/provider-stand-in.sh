#!/bin/sh
# Test fixture: a few bytes standing in for the nodecred-provider executable.
echo "nodecred-provider stand-in" >&2
exit 1
