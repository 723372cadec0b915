using System.Numerics;
using System.Runtime.ExceptionServices;
using Microsoft.ML.OnnxRuntime;

namespace Sluice.Inference.Partitioning.TensorParallel;

internal sealed partial class TensorParallelModel
{
    /// <summary>
    /// Runs the pieces in plan order over a name → tensor environment. A sharded region's shards run at once, one
    /// thread each (each on its own device); their outputs come back in host memory and are summed there, in shard
    /// order, into shard 0's. A tensor is freed after the last piece that reads it.
    /// </summary>
    public IDisposableReadOnlyCollection<OrtValue> Run(RunOptions runOptions, IReadOnlyCollection<string> inputNames, IReadOnlyCollection<OrtValue> inputValues, IReadOnlyCollection<string> outputNames)
    {
        var given = inputNames.Zip(inputValues).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
        var owned = new Dictionary<string, OrtValue>(StringComparer.Ordinal);
        var wanted = outputNames.ToHashSet(StringComparer.Ordinal);
        try
        {
            foreach (var piece in _pieces)
            {
                var values = piece.Inputs.Select(t => owned.GetValueOrDefault(t) ?? given.GetValueOrDefault(t)
                    ?? throw new SluiceException($"tensor parallel: input '{t}' was not fed; the model's inputs: {string.Join(", ", InputMetadata.Keys)}")).ToArray();
                var outputs = piece.Kind == PieceKind.Replicated ? Replicated(piece, runOptions, values) : [Sharded(piece, runOptions, values)];
                for (var i = 0; i < outputs.Length; i++) owned[piece.Outputs[i]] = outputs[i];
                foreach (var t in piece.Release)
                    if (!wanted.Contains(t) && owned.Remove(t, out var done)) done.Dispose();
            }
            var missing = outputNames.Where(n => !owned.ContainsKey(n)).ToList();
            if (missing.Count > 0)
                throw new SluiceException($"tensor parallel: output {string.Join(", ", missing.Select(m => $"'{m}'"))} is not computed; the model's outputs: {string.Join(", ", OutputMetadata.Keys)}");
            var result = new OrtValues();
            foreach (var name in outputNames)
                if (owned.Remove(name, out var value)) result.Add(value);
            return result;
        }
        finally
        {
            foreach (var v in owned.Values) v.Dispose();
        }
    }

    private static OrtValue[] Replicated(Piece piece, RunOptions runOptions, OrtValue[] values)
    {
        // The collection only lists the values; each is owned, and freed, one by one by the environment.
        var results = piece.Sessions[0].Run(runOptions, piece.Inputs, values, piece.Outputs);
        return [.. results];
    }

    private static OrtValue Sharded(Piece piece, RunOptions runOptions, OrtValue[] values)
    {
        var partials = new OrtValue[piece.Sessions.Count];
        try
        {
            Parallel.For(0, partials.Length, new ParallelOptions { MaxDegreeOfParallelism = partials.Length }, k =>
                partials[k] = piece.Sessions[k].Run(runOptions, piece.Inputs, values, piece.Outputs)[0]);
            var sum = partials[0].GetTensorMutableDataAsSpan<float>();
            for (var k = 1; k < partials.Length; k++) Add(sum, partials[k].GetTensorDataAsSpan<float>());
            var result = partials[0];
            partials[0] = null!;
            return result;
        }
        catch (AggregateException e)
        {
            // The first shard's failure, as a single session's Run would throw it (cancellation included).
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
        finally
        {
            foreach (var p in partials) p?.Dispose();
        }
    }

    private static void Add(Span<float> sum, ReadOnlySpan<float> part)
    {
        if (part.Length != sum.Length) throw new SluiceException($"tensor parallel: shard outputs of {sum.Length} and {part.Length} elements cannot be summed");
        var i = 0;
        for (; i <= sum.Length - Vector<float>.Count; i += Vector<float>.Count)
            (new Vector<float>(sum[i..]) + new Vector<float>(part[i..])).CopyTo(sum[i..]);
        for (; i < sum.Length; i++) sum[i] += part[i];
    }
}
