from tinybench.cli import main

raise SystemExit(main())
