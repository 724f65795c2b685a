#!/usr/bin/env bash
# Test fixture: AL2023 keeps bootstrap.sh only to say that nodeadm replaced it.
echo >&2 "bootstrap.sh has been removed from AL2023-based EKS AMIs; nodes are initialized by nodeadm"
exit 1
