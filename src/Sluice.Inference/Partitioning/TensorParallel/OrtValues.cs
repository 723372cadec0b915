using System.Collections;
using Microsoft.ML.OnnxRuntime;

namespace Sluice.Inference.Partitioning.TensorParallel;

/// <summary>Outputs handed to the caller, who frees them all with one Dispose, as with <see cref="InferenceSession"/>'s.</summary>
internal sealed class OrtValues : IDisposableReadOnlyCollection<OrtValue>
{
    private readonly List<OrtValue> _values = [];

    public int Count => _values.Count;

    public OrtValue this[int index] => _values[index];

    public void Add(OrtValue value) => _values.Add(value);

    public IEnumerator<OrtValue> GetEnumerator() => _values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        foreach (var v in _values) v.Dispose();
    }
}
