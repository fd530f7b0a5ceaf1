# MiracleMax: the two entry points the README promises. Both install what they need first.
.PHONY: demo test
demo:
	scripts/demo
test:
	scripts/test-all
