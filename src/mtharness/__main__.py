from mtharness.cli import main

raise SystemExit(main())
