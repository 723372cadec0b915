using Sluice.Blocks;
using Sluice.Contracts;

namespace Sluice.Cluster.Tests.Support;

/// <summary>
/// A real sink behind a gate the test holds: while it is closed, writes wait (the block in hand
/// already fetched), so the blocks queued for the sink stay in their nodes' stores — where a kill
/// then loses them. Everything else goes straight to the inner sink.
/// </summary>
internal sealed class GatedSink(Datasink inner) : Datasink
{
    private volatile TaskCompletionSource _open = Opened();

    public override string Name => inner.Name;

    public void Close() => _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _open.TrySetResult();

    public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken) => inner.OpenAsync(mode, cancellationToken);

    public override async ValueTask WriteAsync(Block block, CancellationToken cancellationToken)
    {
        await _open.Task.WaitAsync(cancellationToken);
        await inner.WriteAsync(block, cancellationToken);
    }

    public override ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken) => inner.MarkTaskCompleteAsync(taskId, blocks, cancellationToken);

    public override ValueTask CompleteAsync(CancellationToken cancellationToken) => inner.CompleteAsync(cancellationToken);

    public override ValueTask AbortAsync() => inner.AbortAsync();

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }
}
