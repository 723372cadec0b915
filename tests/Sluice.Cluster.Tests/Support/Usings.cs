global using RedisServer = Sluice.Cluster.Local.LocalRedis;
global using WorkerProcess = Sluice.Cluster.Local.LocalWorkerProcess;
