from review_patterns.frontends.command import main

raise SystemExit(main())
