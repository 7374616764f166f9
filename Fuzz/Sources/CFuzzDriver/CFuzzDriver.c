// Empty: the header declares libFuzzer entry points only.
