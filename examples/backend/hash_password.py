#!/usr/bin/env python3
"""Print a password hash for the example webapp's users file.

Interactive (asks twice, nothing is echoed):
    ./hash_password.py
From a pipe (the first line of stdin is the password):
    printf '%s\\n' 'correct horse' | ./hash_password.py

Paste the printed line into the user's "password" field in users.json.
The password is read from the terminal or stdin, never from the command
line, where other users could see it in the process list.
"""

import getpass
import os
import sys

# The hashing code lives in webapp.py, so the two always agree on the format.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webapp import hash_password  # noqa: E402


def read_password():
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            sys.exit("hash_password: the passwords differ")
        return first
    line = sys.stdin.readline()
    # Drop the line ending only: spaces are part of the password.
    return line.rstrip("\r\n")


def main():
    password = read_password()
    if not password:
        sys.exit("hash_password: empty password")
    print(hash_password(password))
    return 0


if __name__ == "__main__":
    sys.exit(main())
