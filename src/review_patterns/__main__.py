from review_patterns.frontends.cli import main

raise SystemExit(main())
