using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Sluice.Inference;

namespace Sluice.Bench;

/// <summary>
/// (a) The model-only reference (DESIGN.md §7): <c>actors</c> sessions, one dedicated thread each, with
/// OnnxModel's SessionOptions, pulling pre-made, pre-trimmed batches from a shared queue in a tight loop.
/// </summary>
internal static class ModelAlone
{
    public const string HiddenOutput = "last_hidden_state";

    public sealed record Result(double RowsPerSecond, TimeSpan Elapsed, int Batches, float[][] FirstRows, CpuUse Cpu);

    /// <summary>Exactly the settings of OnnxModel.Load (internal there) for intra-op threads = the actor's 1 cpu.</summary>
    public static SessionOptions CreateSessionOptions()
    {
        var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

    private sealed class PreparedBatch(int start, int count, int length, long[][] arrays, OrtValue[] values) : IDisposable
    {
        public int Start => start;
        public int Count => count;
        public int Length => length;
        public long[][] Arrays => arrays;
        public OrtValue[] Values => values;

        public void Dispose()
        {
            foreach (var v in values) v.Dispose();
        }
    }

    public static Result Run(BenchData data, int batchSize, int actors, int firstRows)
    {
        var batches = data.Batches(batchSize).Select(b => Prepare(data, b.Start, b.Count)).ToList();
        string[] inputNames = [BertTokenizeProcessor.InputIds, BertTokenizeProcessor.AttentionMask, BertTokenizeProcessor.TokenTypeIds];
        string[] outputNames = [HiddenOutput];
        try
        {
            var queue = new ConcurrentQueue<PreparedBatch>();
            var ready = new CountdownEvent(actors);
            using var go = new ManualResetEventSlim(false);
            var errors = new ConcurrentBag<Exception>();
            var done = new long[actors];
            var threads = new List<Thread>();
            for (var a = 0; a < actors; a++)
            {
                var index = a;
                var thread = new Thread(() =>
                {
                    try
                    {
                        using var sessionOptions = CreateSessionOptions();
                        using var session = new InferenceSession(data.Model.Model, sessionOptions);
                        using var runOptions = new RunOptions();
                        using (session.Run(runOptions, inputNames, batches[0].Values, outputNames)) { } // warm-up
                        ready.Signal();
                        go.Wait();
                        while (queue.TryDequeue(out var batch))
                        {
                            using var outputs = session.Run(runOptions, inputNames, batch.Values, outputNames);
                            done[index] += batch.Count;
                        }
                    }
                    catch (Exception e)
                    {
                        errors.Add(e);
                        if (!ready.IsSet) ready.Signal();
                    }
                }) { IsBackground = true, Name = $"model-alone-{a}" };
                threads.Add(thread);
                thread.Start();
            }
            ready.Wait();
            foreach (var b in batches) queue.Enqueue(b);
            var cpu = Cpu.Start();
            var clock = Stopwatch.StartNew();
            go.Set();
            foreach (var t in threads) t.Join();
            clock.Stop();
            var cpuUse = cpu.Stop();
            if (!errors.IsEmpty) throw new AggregateException("model alone failed", errors);
            var rows = done.Sum();
            if (rows != data.Rows) throw new InvalidOperationException($"model alone ran {rows} rows, expected {data.Rows}");

            // Reference embeddings for the first rows: one more run, after timing, pooled in C#.
            using var options = CreateSessionOptions();
            using var check = new InferenceSession(data.Model.Model, options);
            using var run = new RunOptions();
            var first = batches[0];
            using var hidden = check.Run(run, inputNames, first.Values, outputNames);
            var shape = hidden[0].GetTensorTypeAndShape().Shape;
            var pooled = new float[Math.Min(firstRows, first.Count)][];
            for (var r = 0; r < pooled.Length; r++)
                pooled[r] = BenchData.MeanPoolNormalize(hidden[0].GetTensorDataAsSpan<float>(), r, (int)shape[1], (int)shape[2], first.Arrays[1].AsSpan(r * first.Length, first.Length));
            return new Result(rows / clock.Elapsed.TotalSeconds, clock.Elapsed, batches.Count, pooled, cpuUse);
        }
        finally
        {
            foreach (var b in batches) b.Dispose();
        }
    }

    private static PreparedBatch Prepare(BenchData data, int start, int count)
    {
        var length = data.LongestUnmasked(start, count);
        long[][] arrays = [BenchData.Trim(data.Ids, start, count, length), BenchData.Trim(data.Mask, start, count, length), BenchData.Trim(data.Types, start, count, length)];
        long[] shape = [count, length];
        var values = arrays.Select(a => OrtValue.CreateTensorValueFromMemory(a, shape)).ToArray();
        return new PreparedBatch(start, count, length, arrays, values);
    }
}
