# Fixture ebuild (automagic test mirror), modelled on gentoo/gentoo net-misc/dhcpcd.
EAPI=8
inherit fixture-debian

DESCRIPTION="A fully featured, yet light weight RFC2131 compliant DHCP client (fixture: Debian's build)"
HOMEPAGE="https://github.com/NetworkConfiguration/dhcpcd"
LICENSE="BSD"
SLOT="0"
KEYWORDS="amd64 x86"

# Gentoo's dhcpcd drops privileges to the dhcpcd user (acct-user/dhcpcd);
# the fixture makes that account in pkg_preinst instead of a second package.
pkg_preinst() {
	if ! grep -q "^dhcpcd:" "${EROOT}"/etc/group; then
		groupadd -r -R "${EROOT:-/}" dhcpcd || die "groupadd dhcpcd failed"
	fi
	if ! grep -q "^dhcpcd:" "${EROOT}"/etc/passwd; then
		useradd -r -R "${EROOT:-/}" -g dhcpcd -d /var/lib/dhcpcd -s /usr/sbin/nologin \
			-c "dhcpcd privilege separation" dhcpcd || die "useradd dhcpcd failed"
	fi
}

src_install() {
	fixture-debian_src_install
	# Debian's dhcpcd-base ships the daemon only; Gentoo's ebuild installs both services.
	newinitd "${FILESDIR}"/dhcpcd.initd dhcpcd
	insinto /usr/lib/systemd/system
	newins "${FILESDIR}"/dhcpcd.service dhcpcd.service
}
