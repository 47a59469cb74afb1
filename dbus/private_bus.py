# SPDX-License-Identifier: LGPL-2.1-or-later
"""The configuration of a private dbus-daemon that behaves like the system bus: the stock
system-bus default policy (nobody owns names, method calls are denied unless a policy allows
them; root may monitor) plus one included policy file, normally dbus/org.vfiod1.conf. The bus-policy test and the
sim harness both start their bus from it, so the policy they test is the same one."""

_HEAD = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
"""

# Room for a stand-in polkitd (python-dbusmock's, run as root): root may own polkit's name and
# everyone may call its Authority interface, as vfiod does to authorize a caller.
_POLKIT_DEFAULT = """    <allow send_destination="org.freedesktop.PolicyKit1"
           send_interface="org.freedesktop.PolicyKit1.Authority"/>
"""
_POLKIT_ROOT = """  <policy user="root">
    <allow own="org.freedesktop.PolicyKit1"/>
    <allow send_destination="org.freedesktop.PolicyKit1"/>
  </policy>
"""

# As on the stock system bus, root may become a monitor (the sim watches vfiod's own calls).
_ROOT_MONITOR = """  <policy user="root">
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
"""

_TAIL = """  <include>{policy}</include>
</busconfig>
"""


def bus_config(socket, policy, polkit=False):
    """The config text for a bus listening on the unix socket path `socket` that includes the
    policy file `policy`; with `polkit`, the bus also lets polkitd run on it."""
    text = _HEAD.format(socket=socket)
    if polkit:
        text += _POLKIT_DEFAULT
    text += "  </policy>\n"
    if polkit:
        text += _POLKIT_ROOT
    return text + _ROOT_MONITOR + _TAIL.format(policy=policy)
