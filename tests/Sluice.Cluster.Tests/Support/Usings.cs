global using RedisServer = Sluice.Testing.LocalRedis;
global using WorkerProcess = Sluice.Testing.LocalWorkerProcess;
