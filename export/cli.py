def main():
    raise SystemExit("tars-export: not yet")
