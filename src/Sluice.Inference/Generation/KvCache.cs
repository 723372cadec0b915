using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Sluice.Inference.Generation;

/// <summary>
/// A batch's KV cache: per layer a key and a value OrtValue of shape [rows, kv_heads, columns, head], each row's tokens
/// right-aligned (a row of n cached tokens owns the last n columns; the columns left of them are zeros and masked).
/// Held as ONNX Runtime returned it (the previous step's <c>present.*</c>, fed back as <c>past_key_values.*</c> without
/// a copy), or as tensors <see cref="Gather"/> built when the batch's rows changed.
/// </summary>
internal sealed class KvCache : IDisposable
{
    private readonly IDisposable _owner;

    private KvCache(OrtValue[] values, int rows, int columns, IDisposable owner)
    {
        Values = values;
        Rows = rows;
        Columns = columns;
        _owner = owner;
    }

    /// <summary>key of layer 0, value of layer 0, key of layer 1, …</summary>
    public OrtValue[] Values { get; }

    public int Rows { get; }

    public int Columns { get; }

    /// <summary>The present.* outputs of a Run (outputs 1..): the cache takes the outputs' ownership.</summary>
    public static KvCache FromOutputs(IDisposableReadOnlyCollection<OrtValue> outputs, int rows, int columns) =>
        new([.. outputs.Skip(1)], rows, columns, outputs);

    /// <summary>An empty cache (0 columns) of <paramref name="rows"/> rows, for a prefill.</summary>
    public static KvCache Empty(int rows, int layers, int heads, int headSize) =>
        Allocate(rows, layers, heads, 0, headSize);

    /// <summary>
    /// A new cache holding, in order, <c>Length</c> columns of row <c>Row</c> of <c>Source</c> from column <c>Start</c>, for
    /// each part; its width is the longest part, each row right-aligned (shorter rows left-filled with zeros). The one copy
    /// continuous batching makes, when rows leave or join: a batch's rows are taken from its right end
    /// (<see cref="Right"/>), a right-padded prefill's from its left (<see cref="Left"/>).
    /// </summary>
    public static KvCache Gather(IReadOnlyList<KvSpan> parts, int layers, int heads, int headSize)
    {
        var columns = parts.Max(p => p.Length);
        var cache = Allocate(parts.Count, layers, heads, columns, headSize);
        for (var v = 0; v < cache.Values.Length; v++)
        {
            var target = cache.Values[v].GetTensorMutableDataAsSpan<float>();
            target.Clear();
            for (var i = 0; i < parts.Count; i++)
            {
                var (source, row, start, length) = parts[i];
                var from = source.Values[v].GetTensorDataAsSpan<float>();
                for (var h = 0; h < heads; h++)
                {
                    var src = (((long)row * heads + h) * source.Columns + start) * headSize;
                    var dst = (((long)i * heads + h) * columns + (columns - length)) * headSize;
                    from.Slice((int)src, length * headSize).CopyTo(target.Slice((int)dst, length * headSize));
                }
            }
        }
        return cache;
    }

    /// <summary>The last <paramref name="length"/> columns of <paramref name="row"/>: a row of a batch's (right-aligned) cache.</summary>
    public KvSpan Right(int row, int length) => new(this, row, Columns - length, length);

    /// <summary>The first <paramref name="length"/> columns of <paramref name="row"/>: a prompt of a right-padded prefill.</summary>
    public KvSpan Left(int row, int length) => new(this, row, 0, length);

    private static KvCache Allocate(int rows, int layers, int heads, int columns, int headSize)
    {
        var values = new OrtValue[2 * layers];
        for (var i = 0; i < values.Length; i++)
            values[i] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, [rows, heads, columns, headSize]);
        return new KvCache(values, rows, columns, new Owned(values));
    }

    public void Dispose() => _owner.Dispose();

    private sealed class Owned(OrtValue[] values) : IDisposable
    {
        public void Dispose()
        {
            foreach (var v in values) v.Dispose();
        }
    }
}

/// <summary>Columns <c>Start</c>..<c>Start + Length</c> of one row of a cache.</summary>
internal readonly record struct KvSpan(KvCache Source, int Row, int Start, int Length);
