using Sluice.Bench;

// dotnet run -c Release --project bench/Sluice.Bench -- embed --rows N [--batch 32] [--actors 2] [--rounds 3] [--skip-mlnet] [--trace] [--least-loaded] [--max-concurrency K] [--block-rows N|auto]
// dotnet run -c Release --project bench/Sluice.Bench -- simtime [--calls 200] [--devices 8]
// dotnet run -c Release --project bench/Sluice.Bench -- pools [--rows N]
// dotnet run -c Release --project bench/Sluice.Bench -- partition [--rows 256] [--block-rows 8] [--device-mib 32] [--gpus 4] [--skip-latency]
// dotnet run -c Release --project bench/Sluice.Bench -- memory [--budget-mib 64] [--hold-ms 3000] [--one-row-rows 400000]
// dotnet run -c Release --project bench/Sluice.Bench -- partition-cpu [--rows 600] [--rounds 3]
// dotnet run -c Release --project bench/Sluice.Bench -- scale [--nodes 100] [--gpus-per-node 10] [--waves 20] [--task-ms 100]
// dotnet run -c Release --project bench/Sluice.Bench -- stragglers [--rows 24000] [--gpus 8] [--rounds 3] [--slow-fraction 0.05] [--slow-factor 10]
// dotnet run -c Release --project bench/Sluice.Bench -- autotune [--rows 2822] [--rounds 3] [--embed-rows 400] [--embed-rounds 5]
// dotnet run -c Release --project bench/Sluice.Bench -- images [--images 16] [--rounds 3]
// dotnet run -c Release --project bench/Sluice.Bench -- s3-write [--rows 100000] [--block-rows 2000] [--file-mib 16] [--rounds 3]
if (args.Length > 0 && args[0] == "pools") return await PoolsBench.RunAsync(args);
if (args.Length > 0 && args[0] == "cluster") return await ClusterBench.RunAsync(args);
if (args.Length > 0 && args[0] == "partition") return await PartitionBench.RunAsync(args);
if (args.Length > 0 && args[0] == "partition-cpu") return await PartitionCpuBench.RunAsync(args);
if (args.Length > 0 && args[0] == "simtime") return await SimTimeBench.RunAsync(args);
if (args.Length > 0 && args[0] == "memory") return await MemoryBench.RunAsync(args);
if (args.Length > 0 && args[0] == "memory-overhead") return MemoryBench.RunOverhead(args);
if (args.Length > 0 && args[0] == "memory-case") return await MemoryBench.RunCaseAsync(args);
if (args.Length > 0 && args[0] == "scale") return await ScaleBench.RunAsync(args);
if (args.Length > 0 && args[0] == "autotune") return await AutotuneBench.RunAsync(args);
if (args.Length > 0 && args[0] == "stragglers") return await StragglersBench.RunAsync(args);
if (args.Length > 0 && args[0] == "embed") return await EmbedBench.RunAsync(args);
if (args.Length > 0 && args[0] == "images") return await ImagesBench.RunAsync(args);
if (args.Length > 0 && args[0] == "s3-write") return await S3WriteBench.RunAsync(args);
if (args.Length > 0 && args[0] == "generate") return await GenerateBench.RunAsync(args); // [--requests 96] [--max-batch 8] [--max-new 64] [--hidden 64] [--layers 2] [--rounds 3]
{
    Console.Error.WriteLine("usage: Sluice.Bench embed [--rows 2000] [--batch 32] [--actors 2] [--rounds 3] [--skip-mlnet] [--trace] [--least-loaded] [--max-concurrency K] [--block-rows N|auto]");
    Console.Error.WriteLine("       Sluice.Bench simtime [--calls 200] [--devices 8]");
    Console.Error.WriteLine("       Sluice.Bench pools [--rows 9000] [--timeline 30]");
    Console.Error.WriteLine("       Sluice.Bench partition [--rows 256] [--block-rows 8] [--device-mib 32] [--gpus 4] [--skip-latency]");
    Console.Error.WriteLine("       Sluice.Bench partition-cpu [--rows 600] [--rounds 3]");
    Console.Error.WriteLine("       Sluice.Bench scale [--nodes 100] [--gpus-per-node 10] [--waves 20] [--task-ms 100] [--read-tasks 16]");
    Console.Error.WriteLine("       " + StragglersBench.Usage);
    Console.Error.WriteLine("       " + S3WriteBench.Usage);
    Console.Error.WriteLine("       Sluice.Bench autotune [--rows 2822] [--rounds 3] [--embed-rows 400] [--embed-rounds 5]");
    return 2;
}
