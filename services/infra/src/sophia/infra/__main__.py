from sophia.infra import service

service.run()
