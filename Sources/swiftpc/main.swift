print("swiftpc")
