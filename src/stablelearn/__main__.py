from stablelearn.cli import main

raise SystemExit(main())
