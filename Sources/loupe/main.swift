print("loupe: the demo arrives with the RNG")
