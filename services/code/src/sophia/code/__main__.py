from sophia.code.server import service

if __name__ == "__main__":
    service.run()
