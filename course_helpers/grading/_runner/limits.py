"""Run a command under resource limits: ``python limits.py [options] -- COMMAND ...``.

A tiny exec wrapper (standard library only, so it starts in milliseconds): it
sets the limits on itself, changes folder if asked, and replaces itself with the
command, which inherits the limits along with everything it starts. The grader
uses it instead of ``preexec_fn``, which Python documents as unsafe in a
program that runs threads.
"""

import argparse
import json
import os
import resource
import sys


def main(argv):
    parser = argparse.ArgumentParser(prog="limits.py")
    parser.add_argument("--address-space", type=int, help="bytes of virtual memory per process")
    parser.add_argument(
        "--soft-address-space",
        type=int,
        help="the same as a soft limit only, which the command's children may raise again",
    )
    parser.add_argument("--file-size", type=int, help="bytes of the largest file it may write")
    parser.add_argument("--chdir", help="the folder the command starts in")
    parser.add_argument("--env-file", help="a JSON object: the command's whole environment")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    if args.address_space:
        resource.setrlimit(resource.RLIMIT_AS, (args.address_space, args.address_space))
    if args.soft_address_space:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (args.soft_address_space, hard))
    if args.file_size:
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.file_size, args.file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core dumps of student processes
    if args.chdir:
        os.chdir(args.chdir)
    if args.env_file:
        with open(args.env_file, encoding="utf-8") as handle:
            environment = json.load(handle)
        os.execvpe(command[0], command, environment)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
