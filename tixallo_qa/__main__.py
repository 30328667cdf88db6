import sys

from tixallo_qa.cli import main

sys.exit(main())
