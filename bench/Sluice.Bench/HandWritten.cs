using System.Diagnostics;
using System.Threading.Channels;
using Apache.Arrow;
using Apache.Arrow.Types;
using FastBertTokenizer;
using Microsoft.ML.OnnxRuntime;
using Sluice.Inference;

namespace Sluice.Bench;

/// <summary>
/// (d) What a competent .NET developer writes by hand in an afternoon for the same job: read the Parquet file →
/// tokenize (one FastBertTokenizer, Sluice's settings: lowercase, 128 tokens) → <c>actors</c> ORT sessions with
/// Sluice's session options, batches of <c>batch</c> rows trimmed to their longest row → mean-pool + normalize →
/// one Parquet file; bounded Channels between the stages. Timed like (b): wall time from start to the closed file,
/// model loading included. No scheduler, no memory budget, no exactly-once output: the floor Sluice must not fall
/// far below.
/// </summary>
internal static class HandWritten
{
    /// <summary>Each channel holds this many batches: enough to keep the sessions fed while the tokenizer runs ahead.</summary>
    private const int ChannelBatches = 4;

    public sealed record Result(double RowsPerSecond, TimeSpan Elapsed, long RowsWritten, Dictionary<string, float[]> Embeddings, CpuUse Cpu);

    private sealed record Texts(string[] Rows);

    private sealed record Tokens(string[] Rows, int Length, long[] Ids, long[] Mask, long[] Types);

    private sealed record Embedded(string[] Rows, float[] Vectors, int Size);

    public static async Task<Result> RunAsync(BenchData data, string inputFile, string outputFile, int batchSize, int actors)
    {
        var cpu = Cpu.Start();
        var clock = Stopwatch.StartNew();
        var texts = Channel.CreateBounded<Texts>(ChannelBatches);
        var tokens = Channel.CreateBounded<Tokens>(ChannelBatches);
        var embedded = Channel.CreateBounded<Embedded>(ChannelBatches);

        var read = Task.Run(() => ReadAsync(inputFile, batchSize, texts.Writer));
        var tokenize = Task.Run(() => TokenizeAsync(data.Model.Vocab, texts.Reader, tokens.Writer));
        var embedders = Enumerable.Range(0, actors).Select(_ => Task.Factory.StartNew(
            () => Embed(data.Model.Model, tokens.Reader, embedded.Writer), TaskCreationOptions.LongRunning)).ToArray();
        var allEmbedded = Task.WhenAll(embedders).ContinueWith(t => embedded.Writer.Complete(t.Exception), TaskScheduler.Default);
        var write = Task.Run(() => WriteAsync(outputFile, embedded.Reader));

        await Task.WhenAll(read, tokenize, allEmbedded, write);
        await Task.WhenAll(embedders); // surfaces a session's error, which Complete only passed on
        var written = await write;
        clock.Stop();
        var cpuUse = cpu.Stop();
        return new Result(data.Rows / clock.Elapsed.TotalSeconds, clock.Elapsed, written, ReadBack(outputFile), cpuUse);
    }

    private static async Task ReadAsync(string file, int batchSize, ChannelWriter<Texts> output)
    {
        try
        {
            using var reader = new ParquetSharp.Arrow.FileReader(file);
            using var batches = reader.GetRecordBatchReader();
            while (await batches.ReadNextRecordBatchAsync() is { } batch)
            {
                using (batch)
                {
                    var text = (StringArray)batch.Column("text");
                    for (var start = 0; start < batch.Length; start += batchSize)
                    {
                        var rows = new string[Math.Min(batchSize, batch.Length - start)];
                        for (var i = 0; i < rows.Length; i++) rows[i] = text.GetString(start + i) ?? "";
                        await output.WriteAsync(new Texts(rows));
                    }
                }
            }
            output.Complete();
        }
        catch (Exception e)
        {
            output.Complete(e);
            throw;
        }
    }

    private static async Task TokenizeAsync(string vocab, ChannelReader<Texts> input, ChannelWriter<Tokens> output)
    {
        try
        {
            var tokenizer = new BertTokenizer();
            await tokenizer.LoadVocabularyAsync(vocab, convertInputToLowercase: true);
            const int width = BenchData.MaxLength;
            await foreach (var batch in input.ReadAllAsync())
            {
                var n = batch.Rows.Length;
                long[] ids = new long[n * width], mask = new long[n * width], types = new long[n * width];
                var longest = 1;
                for (var i = 0; i < n; i++)
                {
                    var slice = new Range(i * width, (i + 1) * width);
                    tokenizer.Encode(batch.Rows[i], ids.AsSpan(slice), mask.AsSpan(slice), types.AsSpan(slice), padTo: width);
                    longest = Math.Max(longest, mask.AsSpan(slice).LastIndexOfAnyExcept(0L) + 1);
                }
                // Pad each batch only to its longest row, as Sluice's onnx op does: attention cost grows with length.
                await output.WriteAsync(new Tokens(batch.Rows, longest,
                    BenchData.Trim(ids, 0, n, longest), BenchData.Trim(mask, 0, n, longest), BenchData.Trim(types, 0, n, longest)));
            }
            output.Complete();
        }
        catch (Exception e)
        {
            output.Complete(e);
            throw;
        }
    }

    /// <summary>One session on one thread, blocking in Run: the model is the work, so the thread is the worker.</summary>
    private static void Embed(string model, ChannelReader<Tokens> input, ChannelWriter<Embedded> output)
    {
        using var options = ModelAlone.CreateSessionOptions();
        using var session = new InferenceSession(model, options);
        using var run = new RunOptions();
        string[] inputNames = [BertTokenizeProcessor.InputIds, BertTokenizeProcessor.AttentionMask, BertTokenizeProcessor.TokenTypeIds];
        string[] outputNames = [ModelAlone.HiddenOutput];
        while (input.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (input.TryRead(out var batch))
            {
                var n = batch.Rows.Length;
                long[] shape = [n, batch.Length];
                using var ids = OrtValue.CreateTensorValueFromMemory(batch.Ids, shape);
                using var mask = OrtValue.CreateTensorValueFromMemory(batch.Mask, shape);
                using var types = OrtValue.CreateTensorValueFromMemory(batch.Types, shape);
                using var hidden = session.Run(run, inputNames, [ids, mask, types], outputNames);
                var dims = hidden[0].GetTensorTypeAndShape().Shape;
                var size = (int)dims[2];
                var vectors = new float[n * size];
                for (var r = 0; r < n; r++)
                {
                    BenchData.MeanPoolNormalize(hidden[0].GetTensorDataAsSpan<float>(), r, (int)dims[1], size, batch.Mask.AsSpan(r * batch.Length, batch.Length))
                        .CopyTo(vectors.AsSpan(r * size));
                }
                output.WriteAsync(new Embedded(batch.Rows, vectors, size)).AsTask().GetAwaiter().GetResult();
            }
        }
    }

    private static async Task<long> WriteAsync(string file, ChannelReader<Embedded> input)
    {
        ParquetSharp.Arrow.FileWriter? writer = null;
        var rows = 0L;
        try
        {
            await foreach (var batch in input.ReadAllAsync())
            {
                var texts = new StringArray.Builder();
                foreach (var t in batch.Rows) texts.Append(t);
                var values = new FloatArray.Builder().AppendRange(batch.Vectors).Build();
                var type = new FixedSizeListType(new Field("item", FloatType.Default, nullable: false), batch.Size);
                var vectors = new FixedSizeListArray(type, batch.Rows.Length, values, ArrowBuffer.Empty, nullCount: 0);
                var schema = new Schema([new Field("text", StringType.Default, false), new Field("embedding", type, false)], null);
                using var record = new RecordBatch(schema, [texts.Build(), vectors], batch.Rows.Length);
                writer ??= Open(file, schema);
                writer.WriteRecordBatch(record);
                rows += batch.Rows.Length;
            }
            writer?.Close();
            return rows;
        }
        finally
        {
            writer?.Dispose();
        }
    }

    /// <summary>The file settings of Sluice's Parquet sink: Snappy, and the Arrow schema stored so fixed-size lists read back as such.</summary>
    private static ParquetSharp.Arrow.FileWriter Open(string file, Schema schema)
    {
        using var properties = new ParquetSharp.WriterPropertiesBuilder().Compression(ParquetSharp.Compression.Snappy).Build();
        using var arrowProperties = new ParquetSharp.Arrow.ArrowWriterPropertiesBuilder().StoreSchema().Build();
        return new ParquetSharp.Arrow.FileWriter(file, schema, properties, arrowProperties);
    }

    /// <summary>After timing: the file's embeddings by text, to check them against the model alone.</summary>
    private static Dictionary<string, float[]> ReadBack(string file)
    {
        var embeddings = new Dictionary<string, float[]>(StringComparer.Ordinal);
        using var reader = new ParquetSharp.Arrow.FileReader(file);
        using var batches = reader.GetRecordBatchReader();
        while (batches.ReadNextRecordBatchAsync().AsTask().GetAwaiter().GetResult() is { } batch)
        {
            using (batch)
            {
                var text = (StringArray)batch.Column("text");
                var vectors = (FixedSizeListArray)batch.Column("embedding");
                var size = ((FixedSizeListType)vectors.Data.DataType).ListSize;
                var elements = ((FloatArray)vectors.Values).Values;
                for (var i = 0; i < batch.Length; i++)
                    embeddings.TryAdd(text.GetString(i)!, elements.Slice((vectors.Offset + i) * size, size).ToArray());
            }
        }
        return embeddings;
    }
}
