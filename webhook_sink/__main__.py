"""``python -m tixallo_qa.webhook_sink``: the sink in the foreground (``--port 0 --ready-file PATH`` for parents)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tixallo_qa.core.netutil import PortInUseError
from tixallo_qa.core.settings import SettingsError


def main(argv: Sequence[str] | None = None) -> int:
    from tixallo_qa.webhook_sink import config, server

    parser = argparse.ArgumentParser(
        prog="python -m tixallo_qa.webhook_sink", description="Run the Tixallo webhook sink."
    )
    config.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        cfg = config.from_args(args)
        return server.run_foreground(
            cfg,
            fresh=args.fresh,
            ready_file=args.ready_file,
            announce=lambda line: print(line, flush=True),
        )
    except (SettingsError, PortInUseError) as exc:
        print(f"webhook_sink: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
