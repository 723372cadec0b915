global using BenchRedis = Sluice.Cluster.Local.LocalRedis;
global using BenchWorker = Sluice.Cluster.Local.LocalWorkerProcess;
