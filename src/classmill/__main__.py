from classmill.cli import main

main()
