"""The neutral expression language: parse (`parser`), syntax tree (`ast`), meaning (`resolve`)."""
