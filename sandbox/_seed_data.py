"""The vocabulary of the seed: fictitious public structures, supplier, lines and comments.

Names look real but are invented; SIRETs are generated (see :mod:`sandbox.seed`).
"""

from __future__ import annotations

from decimal import Decimal

#: (SIREN prefix, name, exigence, active, services as (code, name, active))
STRUCTURES: tuple[tuple[str, str, str, bool, tuple[tuple[str, str, bool], ...]], ...] = (
    (
        "110",
        "Ministère de la Transition numérique et des Territoires",
        "service_et_engagement",
        True,
        (
            ("SERV-FIN", "Service financier", True),
            ("DSI-01", "Direction des systèmes d'information", True),
            ("ACHATS", "Bureau des achats", True),
        ),
    ),
    (
        "110",
        "Ministère de l'Agriculture et de la Ruralité",
        "engagement",
        True,
        (("CPT-01", "Centre de prestations comptables mutualisé", True),),
    ),
    (
        "230",
        "Région Val-de-Loire-Atlantique",
        "service_ou_engagement",
        True,
        (
            ("DIR-FIN", "Direction des finances", True),
            ("LYC-03", "Direction des lycées", True),
        ),
    ),
    (
        "220",
        "Département du Haut-Morvan",
        "service",
        True,
        (
            ("SERV-FIN", "Service des finances", True),
            ("VOIRIE", "Direction des routes et de la voirie", True),
            ("SERV-ANC", "Ancien service de l'action sociale", False),
        ),
    ),
    ("210", "Commune de Saint-Aubin-sur-Vire", "aucune", True, (("MAIRIE", "Mairie", True),)),
    (
        "210",
        "Commune de Montreval-les-Bains",
        "service",
        True,
        (
            ("FIN-01", "Service finances et marchés", True),
            ("TECH-02", "Services techniques", True),
        ),
    ),
    (
        "260",
        "Centre hospitalier universitaire de Belleval",
        "engagement",
        True,
        (
            ("ECO-01", "Direction des achats et de la logistique", True),
            ("DSIO", "Direction du système d'information", True),
        ),
    ),
    (
        "190",
        "Université Jean-Moulin de Lormes",
        "service_ou_engagement",
        True,
        (
            ("AGENCE-CPT", "Agence comptable", True),
            ("DSI-01", "Direction du numérique", True),
            ("LAB-INFO", "Laboratoire d'informatique", True),
        ),
    ),
    (
        "180",
        "Voies navigables de l'Ouest",
        "aucune",
        True,
        (("DAF", "Direction administrative et financière", True),),
    ),
    (
        "200",
        "Communauté d'agglomération du Pays de Trégor-Armor",
        "service",
        True,
        (
            ("SERV-FIN", "Service financier", True),
            ("DECHETS", "Pôle collecte et valorisation des déchets", True),
            ("NUMERIQUE", "Mission numérique", True),
            ("TRANSPORT", "Réseau de transport urbain", True),
        ),
    ),
    (
        "190",
        "Lycée polyvalent Marie-Curie de Vernières",
        "aucune",
        True,
        (("INTENDANCE", "Intendance", True),),
    ),
    (
        "250",
        "Syndicat intercommunal des eaux de la Vallée du Loir",
        "aucune",
        False,
        (("SIE-01", "Service administratif", True),),
    ),
)

SUPPLIER_NAME = "Atelier Numérique du Littoral SARL"
SUPPLIER_USER_NAME = "Camille Durand"
#: The supplier structures of accounts 2, 3… (``--accounts``) and their user's name, cycled
#: (« - établissement k » added once the list is used up).
OTHER_SUPPLIERS: tuple[tuple[str, str], ...] = (
    ("Solutions Informatiques du Val SAS", "Nadia Benali"),
    ("Réseaux et Systèmes de l'Estuaire SARL", "Thomas Lefèvre"),
    ("Conseil Numérique de Bréhat SAS", "Sophie Garnier"),
    ("Logiciels Publics de Provence SAS", "Karim Haddad"),
    ("Infogérance du Massif Central SARL", "Élodie Marchand"),
    ("Atelier Web des Trois Vallées EURL", "Hugo Perrin"),
    ("Données et Territoires SCOP", "Claire Fontaine"),
    ("Sécurité Numérique de l'Ouest SAS", "Mathieu Roux"),
)
#: (libellé, bank code, branch code, BIC)
BANK_ACCOUNTS = (
    ("Compte principal", "30004", "00822", "BNPAFRPPXXX"),
    ("Compte affacturage", "10278", "36011", "CMCIFR2AXXX"),
)

#: (designation, unit, unit price HT) of the supplier's usual services
ITEMS: tuple[tuple[str, str, Decimal], ...] = (
    ("Maintenance applicative", "mois", Decimal("1850.00")),
    ("Prestation de développement", "jour", Decimal("620.00")),
    ("Chef de projet", "jour", Decimal("780.00")),
    ("Licence logicielle annuelle", "unité", Decimal("240.00")),
    ("Formation des agents", "jour", Decimal("1150.00")),
    ("Hébergement des serveurs", "mois", Decimal("415.50")),
    ("Support utilisateurs niveau 2", "heure", Decimal("72.00")),
    ("Audit de sécurité", "forfait", Decimal("4800.00")),
    ("Commutateur réseau 24 ports", "unité", Decimal("389.90")),
    ("Ordinateur portable", "unité", Decimal("1049.00")),
    ("Documentation utilisateur", "forfait", Decimal("950.00")),
    ("Reprise de données", "jour", Decimal("590.00")),
)

#: Motives of rejections not yet acknowledged, cycled in this order.
REJECTION_MOTIVES = (
    "MONTANTTOTAL_ERR",
    "CMD_ERR",
    "TX_TVA_ERR",
    "CODE_ROUTAGE_ERR",
    "CALCUL_ERR",
    "REF_CT_ABSENT",
    "DEST_ERR",
    "COORD_BANC_ERR",
    "NON_CONFORME",
    "SIRET_ERR",
    "DOUBLON",
    "AUTRE",
)
#: Motives about amounts: such rejected invoices have exactly one line.
AMOUNT_MOTIVES = frozenset({"MONTANTTOTAL_ERR", "CALCUL_ERR", "TX_TVA_ERR"})

#: The public client's comment for each motive (an empty one = no comment).
COMMENTS: dict[str, tuple[str, ...]] = {
    "MONTANTTOTAL_ERR": (
        "Le montant HT ne correspond pas au bon de commande.",
        "Montant facturé supérieur au montant engagé.",
    ),
    "CALCUL_ERR": ("La remise prévue au marché n'a pas été appliquée.", ""),
    "TX_TVA_ERR": (
        "Le taux de TVA applicable à cette prestation est de 20 %.",
        "Taux réduit non applicable.",
    ),
    "DOUBLON": ("Facture déjà reçue sous un autre numéro.", ""),
    "DEST_ERR": ("Cette facture ne concerne pas notre établissement.",),
    "CMD_ERR": (
        "Le numéro d'engagement indiqué ne correspond à aucun bon de commande.",
        "Merci d'indiquer le numéro d'engagement figurant sur le bon de commande.",
    ),
    "REF_CT_ABSENT": ("Le numéro de marché doit figurer sur la facture.",),
    "COORD_BANC_ERR": ("Le RIB ne correspond pas à celui du marché.",),
    "SIRET_ERR": ("La facture doit être adressée à l'établissement principal.",),
    "CODE_ROUTAGE_ERR": ("Merci d'adresser la facture au service financier.", ""),
    "NON_CONFORME": ("La date d'échéance et les pénalités de retard ne figurent pas.",),
    "AUTRE": ("Facture à réémettre après la réunion de chantier.", ""),
}

#: Suspensions asked by the public client (``--seed-suspended``): (motive, comments), cycled
#: in this order. The portal shows the motive as text: no coded list exists for these.
SUSPENSION_MOTIVES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Pièce justificative manquante",
        (
            "Merci de joindre le procès-verbal de réception.",
            "Le bon de livraison signé doit être joint à la facture.",
        ),
    ),
    (
        "Document manquant",
        (
            "L'attestation de service fait n'a pas été transmise.",
            "Merci de joindre le relevé d'heures validé par le service.",
        ),
    ),
    (
        "Justificatif de sous-traitance manquant",
        ("L'acte spécial de sous-traitance doit accompagner la facture.",),
    ),
    (
        "Détail des prestations manquant",
        ("Merci de joindre le détail des prestations par site.", ""),
    ),
)

#: Recyclings asked by the public client (``--seed-recycle``): (motive, comments), cycled in
#: this order; the texts of the reform's codes DEST_ERR, CODE_ROUTAGE_ERR and SIRET_ERR.
RECYCLING_MOTIVES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Erreur de destinataire",
        (
            "Cette facture ne concerne pas notre établissement.",
            "Facture à adresser au service ordonnateur du marché.",
        ),
    ),
    (
        "Code service erroné",
        ("Merci d'indiquer le code service du service financier.", ""),
    ),
    (
        "SIRET erroné",
        ("La facture doit être adressée à l'établissement principal.",),
    ),
)
