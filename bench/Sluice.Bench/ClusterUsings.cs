global using BenchRedis = Sluice.Testing.LocalRedis;
global using BenchWorker = Sluice.Testing.LocalWorkerProcess;
