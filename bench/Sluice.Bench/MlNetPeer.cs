using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Sluice.Inference;

namespace Sluice.Bench;

/// <summary>
/// (c) The peer a .NET user reaches for today: ML.NET's ApplyOnnxModel over an IDataView of rows
/// pre-tokenized to a fixed 128 tokens (ML.NET vectors have one fixed size, so no per-batch trimming),
/// run row by row with its default session options, then mean-pooled + normalized in C#.
/// </summary>
internal static class MlNetPeer
{
    public sealed record Result(double RowsPerSecond, TimeSpan Elapsed, TimeSpan Load, float[][] FirstRows);

    public sealed class TokenRow
    {
        [ColumnName(BertTokenizeProcessor.InputIds), VectorType(BenchData.MaxLength)]
        public long[] InputIds { get; set; } = [];

        [ColumnName(BertTokenizeProcessor.AttentionMask), VectorType(BenchData.MaxLength)]
        public long[] AttentionMask { get; set; } = [];

        [ColumnName(BertTokenizeProcessor.TokenTypeIds), VectorType(BenchData.MaxLength)]
        public long[] TokenTypeIds { get; set; } = [];
    }

    public sealed class HiddenRow
    {
        [ColumnName(ModelAlone.HiddenOutput)]
        public float[] Hidden { get; set; } = [];
    }

    public static Result Run(BenchData data, int firstRows)
    {
        const int L = BenchData.MaxLength;
        var rows = Enumerable.Range(0, data.Rows).Select(r => new TokenRow
        {
            InputIds = data.Ids.AsSpan(r * L, L).ToArray(),
            AttentionMask = data.Mask.AsSpan(r * L, L).ToArray(),
            TokenTypeIds = data.Types.AsSpan(r * L, L).ToArray(),
        }).ToList();

        var ml = new MLContext(seed: 0);
        var view = ml.Data.LoadFromEnumerable(rows);
        var shapes = new Dictionary<string, int[]>
        {
            [BertTokenizeProcessor.InputIds] = [1, L],
            [BertTokenizeProcessor.AttentionMask] = [1, L],
            [BertTokenizeProcessor.TokenTypeIds] = [1, L],
            [ModelAlone.HiddenOutput] = [1, L, 384],
        };
        var load = Stopwatch.StartNew();
        var pipeline = ml.Transforms.ApplyOnnxModel(
            outputColumnNames: [ModelAlone.HiddenOutput],
            inputColumnNames: [BertTokenizeProcessor.InputIds, BertTokenizeProcessor.AttentionMask, BertTokenizeProcessor.TokenTypeIds],
            modelFile: data.Model.Model,
            shapeDictionary: shapes,
            gpuDeviceId: null,
            fallbackToCpu: false,
            recursionLimit: 100);
        using var transformer = pipeline.Fit(view);
        load.Stop();

        var clock = Stopwatch.StartNew();
        var output = transformer.Transform(view);
        var first = new List<float[]>();
        var count = 0;
        foreach (var row in ml.Data.CreateEnumerable<HiddenRow>(output, reuseRowObject: true))
        {
            var size = row.Hidden.Length / L;
            var pooled = BenchData.MeanPoolNormalize(row.Hidden, 0, L, size, data.Mask.AsSpan(count * L, L));
            if (count < firstRows) first.Add(pooled);
            count++;
        }
        clock.Stop();
        if (count != data.Rows) throw new InvalidOperationException($"ML.NET produced {count} rows, expected {data.Rows}");
        return new Result(count / clock.Elapsed.TotalSeconds, clock.Elapsed, load.Elapsed, [.. first]);
    }
}
