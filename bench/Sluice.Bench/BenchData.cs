using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Inference;

namespace Sluice.Bench;

/// <summary>The rows, the model files and the pre-tokenized inputs every measurement shares.</summary>
internal sealed class BenchData
{
    public const int MaxLength = 128;
    public const int BlockRows = 256;


    public required string[] Texts { get; init; }
    public required PackagedModelFiles Model { get; init; }

    /// <summary>[rows, 128] ids, mask, token types, row-major, exactly as BertTokenizeProcessor emits them.</summary>
    public required long[] Ids { get; init; }
    public required long[] Mask { get; init; }
    public required long[] Types { get; init; }

    public int Rows => Texts.Length;

    public static async Task<BenchData> LoadAsync(int rows, string modelDir)
    {
        var texts = Lines(rows);
        var model = PackagedModels.ExportMiniLm(modelDir);
        var (ids, mask, types) = await TokenizeAsync(texts, model.Vocab);
        return new BenchData { Texts = texts, Model = model, Ids = ids, Mask = mask, Types = types };
    }

    /// <summary>The demo's rows: this machine's licence/copyright lines, cycled up to <paramref name="rows"/>.</summary>
    public static string[] Lines(int rows) => [.. Sluice.IO.Samples.MachineText.Lines(rows)];

    /// <summary>One Parquet file, one row group, column <c>text</c> (so the job's 256-row blocks are consecutive rows).</summary>
    public void WriteParquet(string file)
    {
        var builder = new StringArray.Builder();
        foreach (var t in Texts) builder.Append(t);
        var schema = new Schema([new Field("text", Apache.Arrow.Types.StringType.Default, nullable: false)], null);
        var batch = new RecordBatch(schema, [builder.Build()], Texts.Length);
        using var writer = new ParquetSharp.Arrow.FileWriter(file, schema);
        writer.WriteRecordBatch(batch);
        writer.Close();
    }

    /// <summary>The ranges the job's OnnxProcessor sees: 256-row blocks cut into batches of <paramref name="batchSize"/>.</summary>
    public IEnumerable<(int Start, int Count)> Batches(int batchSize)
    {
        for (var block = 0; block < Rows; block += BlockRows)
        {
            var blockEnd = Math.Min(block + BlockRows, Rows);
            for (var start = block; start < blockEnd; start += batchSize)
                yield return (start, Math.Min(batchSize, blockEnd - start));
        }
    }

    /// <summary>The longest unmasked length of rows [start, start+count), at least 1: OnnxProcessor's trim.</summary>
    public int LongestUnmasked(int start, int count)
    {
        var longest = 1;
        for (var row = start; row < start + count; row++)
            longest = Math.Max(longest, Mask.AsSpan(row * MaxLength, MaxLength).LastIndexOfAnyExcept(0L) + 1);
        return longest;
    }

    /// <summary>Rows [start, start+count) of a [rows,128] array cut to [count, length].</summary>
    public static long[] Trim(long[] source, int start, int count, int length)
    {
        var trimmed = new long[count * length];
        for (var r = 0; r < count; r++)
            source.AsSpan((start + r) * MaxLength, length).CopyTo(trimmed.AsSpan(r * length));
        return trimmed;
    }

    /// <summary>Mask-weighted mean of [rows, seq, size] then L2-normalize (sentence-transformers pooling).</summary>
    public static float[] MeanPoolNormalize(ReadOnlySpan<float> hidden, int row, int sequence, int size, ReadOnlySpan<long> mask)
    {
        var pooled = new float[size];
        var tokens = 0f;
        for (var t = 0; t < sequence; t++)
        {
            if (mask[t] == 0) continue;
            tokens += mask[t];
            var v = hidden.Slice((row * sequence + t) * size, size);
            for (var k = 0; k < size; k++) pooled[k] += mask[t] * v[k];
        }
        var norm = 0.0;
        for (var k = 0; k < size; k++)
        {
            pooled[k] /= Math.Max(tokens, 1e-9f);
            norm += (double)pooled[k] * pooled[k];
        }
        var scale = (float)(1 / Math.Max(Math.Sqrt(norm), 1e-12));
        for (var k = 0; k < size; k++) pooled[k] *= scale;
        return pooled;
    }

    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    private static async Task<(long[], long[], long[])> TokenizeAsync(string[] texts, string vocab)
    {
        var tokenizer = new BertTokenizeProcessor(new BertTokenizeOptions(vocab, "text", MaxLength));
        await tokenizer.InitializeAsync(new ProcessorContext("bench-tokenize", 0, ResourceRequest.None, []), CancellationToken.None);
        var builder = new StringArray.Builder();
        foreach (var t in texts) builder.Append(t);
        var schema = new Schema([new Field("text", Apache.Arrow.Types.StringType.Default, nullable: false)], null);
        var output = await tokenizer.ProcessAsync(new RecordBatch(schema, [builder.Build()], texts.Length), CancellationToken.None);
        await tokenizer.DisposeAsync();
        return (Column(output, BertTokenizeProcessor.InputIds), Column(output, BertTokenizeProcessor.AttentionMask), Column(output, BertTokenizeProcessor.TokenTypeIds));
    }

    private static long[] Column(RecordBatch batch, string name) =>
        TensorColumns.Elements<long>((FixedSizeListArray)batch.Column(name)).ToArray();
}
