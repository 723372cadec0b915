using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Sluice.IO.ObjectStorage;

/// <summary>
/// The lock of an S3 output: an object <c>PREFIX/_sluice.lock</c> naming the run that writes it (pid, host, when its
/// process started), rewritten every <see cref="RenewEvery"/> while the run holds it and deleted when it ends. A run
/// that finds a lease renewed within <see cref="Expiry"/> is refused, naming the holder — unless the holder was a process
/// on this machine that no longer runs (a kill -9 and a resume here take over at once). A killed holder elsewhere is
/// taken over once its lease has expired. S3 offers no compare-and-set that every S3-compatible server honours, so two
/// runs that start within the same instant can both take it; the lease keeps out the common mistake (a second run,
/// a resume while the first still runs), not a race of milliseconds.
/// </summary>
internal sealed class S3OutputLease : IDisposable
{
    /// <summary>How often the holder rewrites the lease: a quarter of its expiry, so a slow PUT or two never lets it lapse.</summary>
    internal static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(15);

    /// <summary>A lease not renewed for this long belongs to a run that has died.</summary>
    internal static readonly TimeSpan Expiry = TimeSpan.FromSeconds(60);

    private readonly S3ObjectStore _s3;
    private readonly string _bucket;
    private readonly string _key;
    private readonly string _file;
    private readonly Timer _renew;

    private S3OutputLease(S3ObjectStore s3, string bucket, string key, string file)
    {
        _s3 = s3;
        _bucket = bucket;
        _key = key;
        _file = file;
        _renew = new Timer(_ => Renew(), null, RenewEvery, RenewEvery);
    }

    public static S3OutputLease Acquire(S3ObjectStore s3, string bucket, string key, string display)
    {
        var file = Path.Combine(Path.GetTempPath(), $"sluice-lease-{Guid.NewGuid():N}.json");
        try
        {
            if (s3.TryDownloadAsync(bucket, key, file, CancellationToken.None).GetAwaiter().GetResult() is { } renewed)
            {
                var holder = Holder.Read(file);
                var age = DateTime.UtcNow - renewed;
                if (age < Expiry && holder?.IsDeadHere() != true)
                {
                    throw new SluiceException(
                        $"output '{display}' is being written by another run ({holder?.ToString() ?? "holder unknown"}; lease renewed {age.TotalSeconds:F0} s ago); " +
                        $"wait for it to end or stop it — a second run, even with --overwrite, would mix or delete its parts. " +
                        $"If that run has died, its lease expires {Math.Max(0, (Expiry - age).TotalSeconds):F0} s from now");
                }
            }
            File.WriteAllText(file, Holder.Current().ToJson());
            s3.UploadAsync(bucket, key, file, sha256: null, CancellationToken.None).GetAwaiter().GetResult();
            return new S3OutputLease(s3, bucket, key, file);
        }
        catch
        {
            File.Delete(file);
            throw;
        }
    }

    private void Renew()
    {
        try
        {
            _s3.UploadAsync(_bucket, _key, _file, sha256: null, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (ObjectFileException e)
        {
            // The store is unreachable: the job's own writes fail and say so; the next renewal tries again.
            Debug.WriteLine($"lease renewal failed: {e.Message}");
        }
    }

    public void Dispose()
    {
        // Wait out a renewal in flight: it must not put the lease back after it is deleted.
        using (var stopped = new ManualResetEvent(false))
        {
            if (_renew.Dispose(stopped)) stopped.WaitOne();
        }
        try
        {
            _s3.DeleteAsync(_bucket, _key, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (ObjectFileException e)
        {
            // Left behind, it expires; a resume on this machine takes it over at once.
            Debug.WriteLine($"lease release failed: {e.Message}");
        }
        File.Delete(_file);
    }

    /// <summary>Who holds a lease: the process (pid and start time, so a reused pid is not taken for it) and its host.</summary>
    private sealed record Holder(int Pid, string Host, DateTime ProcessStartUtc)
    {
        public static Holder Current()
        {
            using var self = Process.GetCurrentProcess();
            return new Holder(Environment.ProcessId, Environment.MachineName, self.StartTime.ToUniversalTime());
        }

        public static Holder? Read(string file)
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
                var root = doc.RootElement;
                return new Holder(root.GetProperty("pid").GetInt32(), root.GetProperty("host").GetString() ?? "",
                    DateTime.Parse(root.GetProperty("process_start").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentNullException)
            {
                return null;
            }
        }

        /// <summary>A process of this machine that no longer runs (or whose pid now belongs to a later process).</summary>
        public bool IsDeadHere()
        {
            if (!string.Equals(Host, Environment.MachineName, StringComparison.Ordinal)) return false;
            try
            {
                using var process = Process.GetProcessById(Pid);
                return Math.Abs((process.StartTime.ToUniversalTime() - ProcessStartUtc).TotalSeconds) > 1;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                return true;
            }
        }

        public string ToJson()
        {
            using var stream = new MemoryStream();
            using (var json = new Utf8JsonWriter(stream))
            {
                json.WriteStartObject();
                json.WriteNumber("pid", Pid);
                json.WriteString("host", Host);
                json.WriteString("process_start", ProcessStartUtc.ToString("O", CultureInfo.InvariantCulture));
                json.WriteEndObject();
            }
            return Encoding.UTF8.GetString(stream.ToArray());
        }

        public override string ToString() =>
            string.Create(CultureInfo.InvariantCulture, $"pid {Pid} on {Host}, started {ProcessStartUtc:yyyy-MM-dd HH:mm:ss}Z");
    }
}
