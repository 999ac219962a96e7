"""Entry point of the desk bundle: ``bookingtms desk [--server URL]`` on its own."""

import argparse
import sys

from app.ui.main import run_desk

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bookingtms-desk")
    parser.add_argument("--server", help="the venue's service URL")
    sys.exit(run_desk(parser.parse_args().server))
