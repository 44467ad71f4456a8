from meetbox.cli import main

raise SystemExit(main())
