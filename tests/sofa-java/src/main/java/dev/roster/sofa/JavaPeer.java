package dev.roster.sofa;

import com.alipay.sofa.registry.client.api.Publisher;
import com.alipay.sofa.registry.client.api.Register;
import com.alipay.sofa.registry.client.api.RegistryClientConfig;
import com.alipay.sofa.registry.client.api.Subscriber;
import com.alipay.sofa.registry.client.api.model.UserData;
import com.alipay.sofa.registry.client.api.registration.PublisherRegistration;
import com.alipay.sofa.registry.client.api.registration.SubscriberRegistration;
import com.alipay.sofa.registry.client.provider.AbstractInternalRegister;
import com.alipay.sofa.registry.client.provider.DefaultRegistryClient;
import com.alipay.sofa.registry.client.provider.DefaultRegistryClientConfigBuilder;
import com.alipay.sofa.registry.client.remoting.Client;
import com.alipay.sofa.registry.core.model.ScopeEnum;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The real SOFARegistry Java client, driven by line commands on stdin, for cross-client tests.
 *
 * <p>Usage: {@code JavaPeer <host> [port]} (port of the session server's HTTP endpoint, default
 * 9603). Prints {@code ready} once it holds a Bolt connection to a session server, then reads
 * commands, one per line:
 *
 * <pre>
 *   publish &lt;dataId&gt; &lt;item&gt;[,&lt;item&gt;...]   -> published &lt;dataId&gt;   (after the server acknowledged it;
 *                                            again for the same dataId: republish)
 *   unpublish &lt;dataId&gt;                      -> unpublished &lt;dataId&gt; (after the server acknowledged it)
 *   subscribe &lt;dataId&gt; zone|dataCenter|global -> subscribed &lt;dataId&gt;, then one line per push:
 *                                            push &lt;dataId&gt; &lt;zone&gt;=&lt;item&gt;|&lt;item&gt;;&lt;zone&gt;=...
 *   unsubscribe &lt;dataId&gt;                    -> unsubscribed &lt;dataId&gt;
 *   quit (or EOF)                            -> unregister everything, exit 0
 * </pre>
 *
 * <p>Zones and items in a push are sorted; zones without items are left out, so a push with no
 * data at all is {@code push <dataId> } (with the trailing space). Failures print {@code error
 * <message>}. Everything else (library logging) goes to stderr or log files, never to stdout.
 */
public final class JavaPeer {

  private static final String GROUP = "DEFAULT_GROUP";
  private static final long CONNECT_TIMEOUT_MS = Long.getLong("peer.connectTimeoutMs", 30_000L);
  private static final long ACK_TIMEOUT_MS = Long.getLong("peer.ackTimeoutMs", 10_000L);

  /** The protocol stream; System.out is pointed at stderr so libraries cannot write into it. */
  private final PrintStream out;

  private final DefaultRegistryClient client;
  private final Map<String, Publisher> publishers = new LinkedHashMap<>();
  private final Map<String, Subscriber> subscribers = new LinkedHashMap<>();

  private JavaPeer(PrintStream out, DefaultRegistryClient client) {
    this.out = out;
    this.client = client;
  }

  public static void main(String[] args) throws Exception {
    PrintStream out =
        new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    System.setOut(System.err);

    if (args.length < 1 || args.length > 2) {
      out.println("error usage: JavaPeer <host> [port]");
      System.exit(2);
    }
    String host = args[0];
    int port;
    try {
      port = args.length > 1 ? Integer.parseInt(args[1]) : 9603;
    } catch (NumberFormatException e) {
      out.println("error bad port: " + args[1]);
      System.exit(2);
      return;
    }

    RegistryClientConfig config =
        DefaultRegistryClientConfigBuilder.start()
            .setRegistryEndpoint(host)
            .setRegistryEndpointPort(port)
            .build();
    DefaultRegistryClient client = new DefaultRegistryClient(config);
    client.init();

    JavaPeer peer = new JavaPeer(out, client);
    try {
      peer.connect(host, port);
    } catch (Exception e) {
      peer.error(e);
      System.exit(1);
    }
    peer.println("ready");
    peer.run();
    System.exit(0);
  }

  /**
   * The client only connects when its worker thread gets its first registration. Connect now,
   * so that {@code ready} means "holds a connection to a session server".
   */
  private void connect(String host, int port) throws Exception {
    Field field = DefaultRegistryClient.class.getDeclaredField("client");
    field.setAccessible(true);
    Client connection = (Client) field.get(client);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread connector =
        new Thread(
            () -> {
              try {
                connection.ensureConnected();
              } catch (Throwable t) {
                failure.set(t);
              }
            },
            "JavaPeerConnect");
    connector.setDaemon(true);
    connector.start();
    connector.join(CONNECT_TIMEOUT_MS);
    if (failure.get() != null) {
      throw new IllegalStateException("cannot connect: " + failure.get(), failure.get());
    }
    if (!connection.isConnected()) {
      throw new IllegalStateException(
          "cannot connect to a session server via "
              + host
              + ":"
              + port
              + " within "
              + CONNECT_TIMEOUT_MS
              + " ms");
    }
  }

  private void run() throws Exception {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      line = line.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      try {
        if (!handle(line)) {
          break;
        }
      } catch (Exception e) {
        error(e);
      }
    }
    shutdown();
  }

  /** Runs one command; false means quit. */
  private boolean handle(String line) throws Exception {
    String[] parts = line.split("\\s+", 3);
    String cmd = parts[0];
    switch (cmd) {
      case "publish":
        need(parts, 2, "publish <dataId> <item>[,<item>...]");
        publish(parts[1], parts.length > 2 ? parts[2] : "");
        return true;
      case "unpublish":
        need(parts, 2, "unpublish <dataId>");
        unpublish(parts[1]);
        return true;
      case "subscribe":
        need(parts, 3, "subscribe <dataId> zone|dataCenter|global");
        subscribe(parts[1], parts[2]);
        return true;
      case "unsubscribe":
        need(parts, 2, "unsubscribe <dataId>");
        unsubscribe(parts[1]);
        return true;
      case "quit":
        return false;
      default:
        throw new IllegalArgumentException("unknown command: " + cmd);
    }
  }

  private static void need(String[] parts, int n, String usage) {
    if (parts.length < n) {
      throw new IllegalArgumentException("usage: " + usage);
    }
  }

  private void publish(String dataId, String itemList) throws InterruptedException {
    String[] items =
        Arrays.stream(itemList.split(","))
            .map(String::strip)
            .filter(s -> !s.isEmpty())
            .toArray(String[]::new);
    Publisher publisher = publishers.get(dataId);
    if (publisher == null) {
      PublisherRegistration registration = new PublisherRegistration(dataId);
      registration.setGroup(GROUP);
      publisher = client.register(registration, items);
      publishers.put(dataId, publisher);
    } else {
      publisher.republish(items);
    }
    awaitAck(publisher, "publish " + dataId);
    println("published " + dataId);
  }

  private void unpublish(String dataId) throws InterruptedException {
    Publisher publisher = publishers.remove(dataId);
    if (publisher == null) {
      throw new IllegalArgumentException("not published: " + dataId);
    }
    publisher.unregister();
    awaitAck(publisher, "unpublish " + dataId);
    println("unpublished " + dataId);
  }

  private void subscribe(String dataId, String scopeName) {
    if (!ScopeEnum.contains(scopeName)) {
      throw new IllegalArgumentException(
          "unknown scope: " + scopeName + " (zone|dataCenter|global)");
    }
    if (subscribers.containsKey(dataId)) {
      throw new IllegalArgumentException("already subscribed: " + dataId);
    }
    SubscriberRegistration registration =
        new SubscriberRegistration(dataId, (id, data) -> println(formatPush(id, data)));
    registration.setGroup(GROUP);
    registration.setScopeEnum(ScopeEnum.valueOf(scopeName));
    // Holding the output lock until "subscribed" is printed keeps any push after it.
    synchronized (out) {
      subscribers.put(dataId, client.register(registration));
      out.println("subscribed " + dataId);
    }
  }

  private void unsubscribe(String dataId) throws InterruptedException {
    Subscriber subscriber = subscribers.remove(dataId);
    if (subscriber == null) {
      throw new IllegalArgumentException("not subscribed: " + dataId);
    }
    subscriber.unregister();
    awaitAck(subscriber, "unsubscribe " + dataId);
    println("unsubscribed " + dataId);
  }

  private void shutdown() {
    List<Register> registers = new ArrayList<>(publishers.values());
    registers.addAll(subscribers.values());
    publishers.clear();
    subscribers.clear();
    for (Register register : registers) {
      try {
        register.unregister();
      } catch (Exception e) {
        error(e);
      }
    }
    for (Register register : registers) {
      try {
        awaitAck(register, "unregister " + register.getDataId());
      } catch (Exception e) {
        error(e);
      }
    }
    out.flush();
  }

  /** Waits until the server acknowledged the newest version of this registration. */
  private static void awaitAck(Register register, String what) throws InterruptedException {
    if (!(register instanceof AbstractInternalRegister)) {
      return;
    }
    AbstractInternalRegister internal = (AbstractInternalRegister) register;
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ACK_TIMEOUT_MS);
    while (!internal.isDone()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            what + ": not acknowledged by the server within " + ACK_TIMEOUT_MS + " ms");
      }
      Thread.sleep(5);
    }
  }

  static String formatPush(String dataId, UserData data) {
    StringJoiner zones = new StringJoiner(";");
    Map<String, List<String>> zoneData = data == null ? null : data.getZoneData();
    if (zoneData != null) {
      for (Map.Entry<String, List<String>> zone : new TreeMap<>(zoneData).entrySet()) {
        List<String> items = zone.getValue() == null ? List.of() : new ArrayList<>(zone.getValue());
        if (items.isEmpty()) {
          continue;
        }
        items.sort(null);
        zones.add(zone.getKey() + "=" + String.join("|", items));
      }
    }
    return "push " + dataId + " " + zones;
  }

  private void println(String line) {
    synchronized (out) {
      out.println(line);
      out.flush();
    }
  }

  private void error(Throwable e) {
    String message = e.getMessage() == null ? e.toString() : e.getMessage();
    println("error " + message.replaceAll("\\s*[\\r\\n]+\\s*", " "));
  }
}
